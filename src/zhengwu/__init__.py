"""zhengwu-assistant (政务助手): grounded answers about government services, with citations."""

from zhengwu.pii import install_record_masking as _install_record_masking

# 身份证号 and 手机号 never reach a log line in clear, however the deployment configures logging.
_install_record_masking()
