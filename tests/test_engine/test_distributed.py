"""setup_distributed: the gloo group and CPU DDP settings the Runner needs without CUDA."""
import os
import socket
import stat

import pytest
import torch
import torch.distributed as dist
from mmengine.config import Config

from cdmx.engine import setup_distributed, teardown_distributed
from cdmx.utils.errors import CdmxError

needs_cpu_only = pytest.mark.skipif(torch.cuda.is_available(),
                                    reason='with CUDA, mmengine sets up the process group')
ENV_NAMES = ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT')


@pytest.fixture
def clean_env(monkeypatch):
    """No launcher variables; whatever a test or the code under test sets is undone after it."""
    for name in ENV_NAMES + ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_LOCALID', 'SLURM_NODELIST'):
        monkeypatch.setenv(name, 'recorded')  # records the value before the test for undo
        monkeypatch.delenv(name)
    return monkeypatch


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_launcher_none_only_records_the_launcher():
    cfg = Config(dict(model=dict(type='Net')))
    setup_distributed(cfg, 'none')
    assert cfg.launcher == 'none' and 'model_wrapper_cfg' not in cfg


def test_unknown_launcher_is_bad_input():
    with pytest.raises(CdmxError, match="launcher 'mpi' is unknown; use one of none, pytorch"):
        setup_distributed(Config(), 'mpi')


@needs_cpu_only
def test_pytorch_launcher_without_torchrun_names_the_missing_variables(clean_env):
    clean_env.setenv('RANK', '0')
    with pytest.raises(CdmxError) as raised:
        setup_distributed(Config(), 'pytorch')
    assert 'WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT' in str(raised.value)
    assert 'torchrun' in str(raised.value)


@needs_cpu_only
def test_cpu_group_is_gloo_and_ddp_gets_no_device_ids(clean_env):
    for name, value in dict(RANK='0', WORLD_SIZE='1', LOCAL_RANK='0', MASTER_ADDR='127.0.0.1',
                            MASTER_PORT=str(_free_port())).items():
        clean_env.setenv(name, value)
    cfg = Config(dict(find_unused_parameters=True,
                      model_wrapper_cfg=dict(type='MMDistributedDataParallel',
                                             static_graph=False)))
    try:
        setup_distributed(cfg, 'pytorch')
        assert dist.is_initialized() and dist.get_backend() == 'gloo'
        teardown_distributed()  # what the tools call after training, testing, generating
        assert not dist.is_initialized()
        teardown_distributed()  # without a group: nothing to do
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    assert cfg.launcher == 'pytorch'
    assert cfg.model_wrapper_cfg == dict(type='MMDistributedDataParallel', static_graph=False,
                                         device_ids=None, broadcast_buffers=False,
                                         find_unused_parameters=True)


@needs_cpu_only
def test_an_existing_group_is_kept_and_unknown_wrappers_are_bad_input(clean_env):
    for name, value in dict(RANK='0', WORLD_SIZE='1', LOCAL_RANK='0', MASTER_ADDR='127.0.0.1',
                            MASTER_PORT=str(_free_port())).items():
        clean_env.setenv(name, value)
    dist.init_process_group('gloo', init_method='env://')
    try:
        group = dist.group.WORLD
        cfg = Config()
        setup_distributed(cfg, 'pytorch')
        assert dist.group.WORLD is group
        assert cfg.model_wrapper_cfg['device_ids'] is None
        assert not cfg.model_wrapper_cfg['find_unused_parameters']
        # A BN policy that freezes parameters mid-training needs DDP's unused-parameter search.
        frozen = Config(dict(model=dict(bn_policy=dict(type='BatchNormPolicy',
                                                       freeze_affine_after=100))))
        setup_distributed(frozen, 'pytorch')
        assert frozen.model_wrapper_cfg['find_unused_parameters'] is True
        with pytest.raises(CdmxError, match="'NoSuchWrapper' is not in the model_wrapper"):
            setup_distributed(Config(dict(model_wrapper_cfg=dict(type='NoSuchWrapper'))),
                              'pytorch')
    finally:
        dist.destroy_process_group()


@needs_cpu_only
def test_slurm_variables_become_torchrun_ones(clean_env, tmp_path):
    # A stand-in for Slurm's scontrol, which expands a node list into host names.
    scontrol = tmp_path / 'scontrol'
    scontrol.write_text('#!/bin/sh\n[ "$1 $2 $3" = "show hostnames node[3-4]" ] && '
                        'printf "node3\\nnode4\\n"\n')
    scontrol.chmod(scontrol.stat().st_mode | stat.S_IEXEC)
    clean_env.setenv('PATH', f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    for name, value in dict(SLURM_PROCID='3', SLURM_NTASKS='4', SLURM_LOCALID='1',
                            SLURM_NODELIST='node[3-4]').items():
        clean_env.setenv(name, value)
    # The group itself would wait for the other three ranks: stop at its creation.
    clean_env.setattr(dist, 'init_process_group', _raise_stop)
    with pytest.raises(_Stop):
        setup_distributed(Config(), 'slurm')
    assert {name: os.environ[name] for name in ENV_NAMES} == dict(
        RANK='3', WORLD_SIZE='4', LOCAL_RANK='1', MASTER_ADDR='node3', MASTER_PORT='29500')


@needs_cpu_only
def test_slurm_launcher_outside_srun_is_bad_input(clean_env):
    with pytest.raises(CdmxError, match="--launcher slurm needs srun's variables SLURM_PROCID"):
        setup_distributed(Config(), 'slurm')


class _Stop(Exception):
    pass


def _raise_stop(*args, **kwargs):
    raise _Stop
