# UCDM's open-set classifier (cdmx.models.UCDMClassifier): WRN-28-2, a closed-set head of K
# logits and an open-set head of K one-vs-all pairs, trained on positive/negative pairs with
# UCDMLoss (Eqs. 9, 12-15). Configs of K != 2 known classes set both heads' num_classes.
model = dict(
    type='UCDMClassifier',
    backbone=dict(type='WideResNet', depth=28, widen_factor=2, in_channels=3, drop_rate=0.0),
    closed_head=dict(type='ClosedSetHead', num_classes=2, in_channels=128),
    open_head=dict(type='OpenSetHead', num_classes=2, in_channels=128),
    loss=dict(type='UCDMLoss', lambda1=1.0, lambda2=2.0),
    # Batch norm (paper §B.6: BN is optimised "over the initial 100 iterations"): the weight and
    # bias of every BN layer train for the first 100 iterations and are frozen afterwards;
    # evaluation normalises with the running statistics (standard BN). The official code's
    # variant is eval_statistics='batch' with freeze_affine_after=1 (cdmx.models.bn_policy);
    # eval_statistics='pool' re-estimates the statistics on the real unlabeled pool before each
    # labelling round and before testing, the mini world's default (measured: docs/ucdm.md).
    bn_policy=dict(type='BatchNormPolicy', freeze_affine_after=100, eval_statistics='running'))
