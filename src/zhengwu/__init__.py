"""zhengwu-assistant (政务助手): grounded answers about government services, with citations."""
