# Runtime shared by every cdmx config: scope, hooks, logging, environment, visualisation, seed.
default_scope = 'cdmx'

# Every cdmx schedule is iteration-based, so hooks count iterations; a config changes an
# interval by overriding e.g. `default_hooks = dict(checkpoint=dict(interval=500))`.
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1000, max_keep_ckpts=3,
                    save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # writes the training images' shape and noise schedule into each checkpoint's meta
    training_meta=dict(type='TrainingMetaHook'))

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # backend=None lets torch.distributed pick the backend of the device it finds: gloo on CPU,
    # nccl on CUDA GPUs (torch's BackendConfig for an undefined backend).
    dist_cfg=dict(backend=None))

vis_backends = [dict(type='LocalVisBackend')]  # add dict(type='TensorboardVisBackend') at will
visualizer = dict(type='Visualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False, window_size=50)
log_level = 'INFO'

load_from = None
resume = False
randomness = dict(seed=0)
