# DiffMatch on Cityscapes with a ResNet-50 V1c extractor; otherwise cityscapes_r101.py.
_base_ = ['./cityscapes_r101.py']
model = dict(segmentor=dict(backbone=dict(
    depth=50, init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet50_v1c'))))
