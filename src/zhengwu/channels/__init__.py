"""Chat channels (WeChat Official Account, WeCom, Telegram): thin adapters over one ``Assistant``.

``common`` holds what every channel does the same way: who the user is, their consent commands, the answer, and
turning it into plain text of a bounded size.
"""
