# A tiny generation run for the tests of tools/generate.py: six Fashion-MNIST seeds (three of
# two known classes, three unknown), two known classes, two DDIM steps on a tiny random SD whose
# folder, like the Fashion-MNIST folder, the tests pass with --cfg-options.
default_scope = 'cdmx'

generation = dict(
    backend=dict(type='StableDiffusionBackend', pretrained='', resize_policy='bicubic'),
    positive=dict(type='PositiveGenerator', num_inference_steps=2),
    negative=dict(type='NegativeGenerator', num_inference_steps=2),
    classes=None,
    resolution=12,
    shard_size=2,
    batch_size=3,
    seed=0)

generation_dataset = dict(
    type='MismatchDataset',
    dataset=dict(type='FashionMNIST', data_root='', subset='test'),
    split=dict(known=['T-shirt/top', 'Sandal'], unknown=['Bag', 'Coat'], new=['Trouser'],
               known_count=3),
    part='train',
    mismatch=0.5)
