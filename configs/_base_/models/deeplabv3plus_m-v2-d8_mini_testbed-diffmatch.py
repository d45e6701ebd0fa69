# The mini DiffMatch segmentor (deeplabv3plus_m-v2-d8_mini_diffmatch.py, its readout unchanged)
# in the teacher-student wrapper with the DiffMatch loop the testbed's arms share: the same
# network labels the weak view (Sec. 3.1), no CutMix (Sec. 4.1), feature dropout 0.5, pixels of
# posterior >= 0.8 (the mini world's measured rule, docs/notes/diffmatch.md; the paper keeps every
# pixel; re-choose it on the dev scenes). The testbed arms (configs/diffmatch/
# fashion-scenes_testbed-diffmatch*.py) set the classes, the start checkpoint and the burn-in.
_base_ = ['./deeplabv3plus_m-v2-d8_mini_diffmatch.py']
model = dict(
    _delete_=True,
    type='SemiSupervisedSegmentor',
    segmentor={{_base_.model}},
    teacher='identical',
    unsup_weight=1.0,
    confidence_threshold=0.8,
    cutmix_prob=0.0,
    feature_dropout=0.5,
    prior_momentum=0.99,
    predict_on='teacher')
