# UCDM's data on Tiny-ImageNet (split tiny-imagenet_ucdm: 20 known, 80 unknown, 100 new classes;
# 10,000 known train images, Tables 14 and 15; 1,000 images per kind from the labelled `val`
# folder). Same structure as ucdm_cifar-10.py; images are resized to Table 17's 32x32 input when
# decoded (TinyImageNet(size=32), pixel-area averaging), so the generated cache, the pool and the
# classifier all work at 32. Env CDMX_TINY_IMAGENET names the extracted tiny-imagenet-200 folder.
_base_ = ['./ucdm_cifar-10.py']

data_root = '{{$CDMX_TINY_IMAGENET:data/tiny-imagenet-200}}'
split = 'tiny-imagenet_ucdm'
num_known_classes = 20

# ImageNet-style per-channel mean and standard deviation of Tiny-ImageNet's train set (0..255).
data_preprocessor = dict(
    num_classes=num_known_classes,
    mean=[122.46, 114.26, 101.36],
    std=[70.63, 68.62, 71.94])

train_dataloader = dict(dataset=dict(
    real=dict(dataset=dict(_delete_=True, type='TinyImageNet', data_root=data_root,
                           split='train', size=32), split=split)))
test_dataloader = dict(dataset=dict(
    dataset=dict(_delete_=True, type='TinyImageNet', data_root=data_root, split='val', size=32),
    split=split))
