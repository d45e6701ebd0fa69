# The testbed's extractor (docs/notes/diffmatch_testbed.md): the mini world's DeepLabv3+ on
# mmseg's MobileNetV2 (deeplabv3plus_m-v2-d8_mini_extractor.py: output stride 8, 128-d pixel
# embedding at 1/4 scale) with the backbone pretrained on Fashion-MNIST's external pool, which no
# testbed scene uses: a classifier of the pool's own 10 labels, items drawn as the scenes draw
# them (configs/diffmatch/fashion-scenes_testbed-extractor.py; tools/diffmatch_testbed.sh trains
# it and copies its last checkpoint to the path below). One extractor for every arm; each arm
# then starts from the same per-seed supervised checkpoint (its segmentor's init_cfg, which is
# loaded after, and so over, this one).
# As it stands `model` is a DiscriminativeSegmentor (mmseg's EncoderDecoder with the labelled
# class prior): the supervised stage and the full-label oracle.
_base_ = ['./deeplabv3plus_m-v2-d8_mini_extractor.py']
extractor_checkpoint = \
    '{{$CDMX_PRETRAINED:work_dirs/pretrained}}/fashion_external_mobilenet_v2.pth'
backbone = dict(init_cfg=dict(type='Pretrained', checkpoint=extractor_checkpoint,
                              prefix='backbone.'))
decode_head = dict(num_classes=8)
model = dict(type='DiscriminativeSegmentor', backbone=backbone, decode_head=decode_head)
