# WRN-28-2 (cdmx.models.WideResNet) with global average pooling and a linear classifier, as
# mmpretrain's ImageClassifier. Names of other scopes carry their prefix: inside mmpretrain's
# models an unprefixed 'CrossEntropyLoss' would be looked up in the default scope cdmx and fail.
# The data_preprocessor (normalisation) comes with the dataset config.
model = dict(
    type='mmpretrain.ImageClassifier',
    backbone=dict(type='WideResNet', depth=28, widen_factor=2, in_channels=3, drop_rate=0.0),
    neck=dict(type='mmpretrain.GlobalAveragePooling'),
    head=dict(
        type='mmpretrain.LinearClsHead',
        num_classes=10,
        in_channels=128,
        loss=dict(type='mmpretrain.CrossEntropyLoss', loss_weight=1.0),
        topk=(1, ),
        # FixMatch initialises the classifier with Xavier-normal weights and zero bias.
        init_cfg=dict(type='Xavier', layer='Linear', distribution='normal', bias=0.0)))
