# DiffMatch's segmentor (extractor + mask denoiser, Eqs. 4-6 and 9-11, tau = 0.1) trained on the
# 250 labelled mini-world scenes alone: what the semi-supervised loop adds to DiffMatch, next to
# fashion-scenes_sup-only_1-16.py (the same extractor with mmseg's classifier). Denoiser and
# loss as deeplabv3plus_m-v2-d8_mini_diffmatch.py (whose header lists what each of its changes
# to the paper setting measured here).
_base_ = ['./fashion-scenes_sup-only_1-16.py']
model = dict(
    _delete_=True,
    type='DiffMatch',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone={{_base_.model.backbone}},
    decode_head={{_base_.model.decode_head}},
    denoiser=dict(type='MaskDenoiser', embed_dims=128, num_layers=4, num_heads=4, num_levels=3,
                  num_points=2, feedforward_channels=256, label_encoding='one_hot',
                  bit_scale=0.1),
    auxiliary_head=dict(
        type='mmseg.FCNHead', in_channels=128, in_index=0, channels=128, num_convs=1,
        concat_input=False, dropout_ratio=0.1, num_classes={{_base_.num_classes}},
        norm_cfg={{_base_.norm_cfg}}, align_corners=False,
        loss_decode=dict(type='mmseg.CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    loss=dict(type='DebiasedDiffusionLoss', tau=0.1),
    loss_at='input',
    debias_sampling=0.35,
    steps=3,
    td=0.0,
    test_cfg=dict(mode='whole'))
