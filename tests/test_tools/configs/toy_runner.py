# A tiny iteration-based run of the tool tests' toy model
# (tests/test_tools/tools_toy_components.py).
default_scope = 'cdmx'
custom_imports = dict(imports=['tools_toy_components'], allow_failed_imports=False)

model = dict(type='ToolsTestNet')
train_dataloader = dict(
    batch_size=4, num_workers=0, collate_fn=dict(type='pseudo_collate'),
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='ToolsTestDataset', size=64, seed=0))
test_dataloader = dict(
    batch_size=8, num_workers=0, collate_fn=dict(type='pseudo_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ToolsTestDataset', size=64, seed=1))
test_evaluator = dict(type='ToolsTestAccuracy')
test_cfg = dict(type='TestLoop')

train_cfg = dict(type='IterBasedTrainLoop', max_iters=4)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.5, momentum=0.9))
# An explicit end: a resumed run keeps the end its checkpoint saved (mmengine clips an open end
# to the first run's max_iters), so the tests can extend max_iters on resume.
param_scheduler = dict(type='MultiStepLR', by_epoch=False, begin=0, end=8, milestones=[6],
                       gamma=0.1)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False))
custom_hooks = [dict(type='ToolsTestStateDumpHook')]
log_processor = dict(by_epoch=False)
env_cfg = dict(dist_cfg=dict(backend='nccl'))
# Different seeds per rank: ranks start apart, and only DDP's broadcast makes them agree.
randomness = dict(seed=0, diff_rank_seed=True)
