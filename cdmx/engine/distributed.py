"""Distributed setup for the tools: nccl on GPUs through mmengine, gloo on CPUs through cdmx.

On GPUs the Runner initialises the process group itself (``mmengine.dist.init_dist`` with
``env_cfg.dist_cfg``). On a machine without CUDA that path fails, because ``init_dist`` pins each
process to a GPU (``torch.cuda.set_device``), and mmengine wraps the model in DDP with
``device_ids=[LOCAL_RANK]``, which CPU modules reject. :func:`setup_distributed` therefore opens a
gloo group before the Runner is built (the Runner skips its own init when a group exists) and asks
for CPU DDP (``device_ids=None``) in ``model_wrapper_cfg``.
"""
import os
import subprocess
from datetime import timedelta

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.logging import print_log
from torch.nn.parallel import DistributedDataParallel

from cdmx.models.bn_policy import freezes_parameters
from cdmx.registry import MODEL_WRAPPERS
from cdmx.utils.errors import CdmxError

LAUNCHERS = ('none', 'pytorch', 'slurm')
#: What ``env://`` rendezvous reads (torchrun sets all of them), plus the local rank mmengine reads.
_TORCHRUN_ENV = ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT')


def setup_distributed(cfg: Config, launcher: str) -> None:
    """Prepare ``cfg`` (and on CPUs the process group) for ``Runner.from_cfg`` under ``launcher``.

    A model whose batch-norm policy freezes parameters mid-training
    (:func:`cdmx.models.bn_policy.freezes_parameters`) gets ``find_unused_parameters=True``
    (unless the config sets it): DDP otherwise waits for their gradients and stops at the first
    step after the freeze.

    Args:
        cfg: The run's config; ``cfg.launcher`` is set, and on CPUs ``cfg.model_wrapper_cfg``.
        launcher: ``'none'`` (one process), ``'pytorch'`` (started by torchrun) or ``'slurm'``
            (started by srun).

    Raises:
        CdmxError: Unknown launcher, or the environment its processes need is missing.
    """
    if launcher not in LAUNCHERS:
        raise CdmxError(f"launcher '{launcher}' is unknown; use one of {', '.join(LAUNCHERS)}.")
    cfg.launcher = launcher
    if launcher == 'none':
        return
    if cfg.get('find_unused_parameters') is None and freezes_parameters(cfg.get('model')):
        cfg.find_unused_parameters = True
    if torch.cuda.is_available():
        return
    if launcher == 'slurm':
        _export_slurm_env()
    missing = [name for name in _TORCHRUN_ENV if name not in os.environ]
    if missing:
        raise CdmxError(f"--launcher {launcher} needs the environment variables "
                        f"{', '.join(missing)}; start the tool with torchrun "
                        '(tools/dist_train.sh) or srun (tools/slurm_train.sh).')
    if not dist.is_initialized():
        timeout = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('timeout')
        kwargs = {} if timeout is None else dict(timeout=timedelta(seconds=timeout))
        dist.init_process_group(backend='gloo', init_method='env://', **kwargs)
        if dist.get_rank() == 0:
            print_log(f'no CUDA device: cdmx opened a gloo process group of '
                      f'{dist.get_world_size()} CPU processes', logger='current')
    cfg.model_wrapper_cfg = _cpu_wrapper_cfg(cfg)


def teardown_distributed() -> None:
    """Close the process group, if any, once every rank has finished (a barrier, then
    ``destroy_process_group``).

    Without it each rank leaves at its own pace and the group dies in interpreter shutdown:
    rank 0 hosts the ``env://`` store, and a rank still tearing gloo down when it vanishes
    aborts ("terminate called without an active exception", exit -6; seen in the 2-process
    tests).
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def _cpu_wrapper_cfg(cfg: Config) -> dict:
    """``cfg.model_wrapper_cfg`` with ``device_ids=None`` when it is a DDP wrapper.

    mmengine passes ``device_ids=[LOCAL_RANK]`` as a default argument; an explicit ``None`` in the
    config wins. ``broadcast_buffers`` and ``find_unused_parameters`` keep mmengine's defaults for
    the case without a wrapper config.
    """
    wrapper = dict(cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel'))
    wrapper_type = wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper_cls = (MODEL_WRAPPERS.get(wrapper_type) if isinstance(wrapper_type, str)
                   else wrapper_type)
    if wrapper_cls is None:
        raise CdmxError(f"model_wrapper_cfg type '{wrapper_type}' is not in the model_wrapper "
                        'registry; use MMDistributedDataParallel or register the wrapper.')
    if issubclass(wrapper_cls, DistributedDataParallel):
        wrapper['device_ids'] = None
        wrapper.setdefault('broadcast_buffers', False)
        wrapper.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
    return wrapper


def _export_slurm_env() -> None:
    """Translate srun's variables into the ``env://`` ones, as mmengine does for GPU jobs.

    Written here because mmengine's slurm init also pins a GPU per process. The master address is
    the first host of ``SLURM_NODELIST`` (``scontrol show hostnames`` expands ``node[1-4]``);
    ``MASTER_PORT`` keeps a value already set, else 29500.
    """
    needed = ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_LOCALID', 'SLURM_NODELIST')
    missing = [name for name in needed if name not in os.environ]
    if missing:
        raise CdmxError(f"--launcher slurm needs srun's variables {', '.join(missing)}; start "
                        'the tool through tools/slurm_train.sh (srun).')
    hosts = subprocess.run(['scontrol', 'show', 'hostnames', os.environ['SLURM_NODELIST']],
                           check=True, capture_output=True, text=True).stdout.split()
    os.environ.setdefault('MASTER_PORT', '29500')
    os.environ.setdefault('MASTER_ADDR', hosts[0])
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['LOCAL_RANK'] = os.environ['SLURM_LOCALID']
