# DiffMatch's feature extractor g and the discriminative models built on it: DeepLabv3+ with an
# ImageNet-pretrained ResNet-101 V1c (output stride 8), a 256-d pixel embedding at 1/4 scale
# (DiffMatch Sec. 4, D = 256; mmseg's DeepLabv3+ uses 512, DiffMatch / UniMatch 256).
# As it stands `model` is mmseg's plain EncoderDecoder (supervised-only training); the
# DiffMatch and UniMatch-style bases wrap these same `backbone` / `decode_head` dicts.
# A config that changes the backbone edits model.backbone (here) or model.segmentor.backbone
# (in the semi-supervised bases): the dicts below are copied into them when the base is read.
# SyncBN as in the paper's 8-GPU runs; on one process (CPU) mmengine's Runner turns it into BN.
norm_cfg = dict(type='SyncBN', requires_grad=True)
backbone = dict(
    type='mmseg.ResNetV1c',
    depth=101,
    num_stages=4,
    out_indices=(0, 1, 2, 3),
    dilations=(1, 1, 2, 4),
    strides=(1, 2, 1, 1),
    norm_cfg=norm_cfg,
    norm_eval=False,
    style='pytorch',
    contract_dilation=True,
    init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet101_v1c'))
decode_head = dict(
    type='mmseg.DepthwiseSeparableASPPHead',
    in_channels=2048,
    in_index=3,
    channels=256,
    dilations=(1, 12, 24, 36),
    c1_in_channels=256,
    c1_channels=48,
    dropout_ratio=0.1,
    num_classes=19,
    norm_cfg=norm_cfg,
    align_corners=False,
    loss_decode=dict(type='mmseg.CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
# The top-level data_preprocessor of the dataset base (mmseg.SegDataPreProcessor) is given to
# this model by mmengine's Runner.
model = dict(
    type='mmseg.EncoderDecoder',
    backbone=backbone,
    decode_head=decode_head,
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
