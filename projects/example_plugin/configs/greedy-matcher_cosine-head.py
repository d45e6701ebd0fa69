# Uses the two components of cdmx-example-plugin. `custom_imports` imports the package when the
# config is read, which registers GreedyMatcher in cdmx's MATCHERS and CosineClsHead in HEADS;
# after that they are built by name like any cdmx component: MATCHERS.build(cfg.matcher),
# HEADS.build(cfg.head), or as a part of a model (cdmx's MODELS also finds what HEADS holds).
custom_imports = dict(imports=['cdmx_example_plugin'], allow_failed_imports=False)
default_scope = 'cdmx'

# Assigns rows of a priority matrix (e.g. clusters x class names, scored by a zero-shot model)
# to columns one-to-one.
matcher = dict(type='GreedyMatcher', maximize=True)

# Classifies pooled WRN-28-2 features (128 channels) into the 2 known classes of the mini world.
head = dict(type='CosineClsHead', num_classes=2, in_channels=128, scale=16.0)

# The head in a model: mmpretrain's ImageClassifier over cdmx's WRN-28-2.
model = dict(
    type='mmpretrain.ImageClassifier',
    data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor', num_classes=2),
    backbone=dict(type='WideResNet', depth=28, widen_factor=2),
    neck=dict(type='mmpretrain.GlobalAveragePooling'),
    head=head)
