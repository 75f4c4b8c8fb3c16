"""A service guide staff upload in the document-library tests (``.format(days=…)`` sets its 办理时限)."""

DOG_GUIDE = """---
doc_id: gz-dog-licence
title: 犬只登记
doc_type: service_guide
region: 广州市
department: 广州市公安局
updated: '2026-11-30'
source_url: https://gov.example/dog
item_name: 犬只登记
---

# 犬只登记

## 基本信息
- 事项名称：犬只登记
- 实施主体：广州市公安局

## 申请材料
1. 犬主身份证
2. 狂犬病免疫证明

## 办理时限
{days}个工作日

## 咨询电话
020-83118888
"""
