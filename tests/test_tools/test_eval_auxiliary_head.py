"""tools/analysis_tools/eval_auxiliary_head.py: DiffMatch scored through its auxiliary head."""
import os

import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.models.utils import resize
from tool_runner import REPO_ROOT, load_module

from cdmx.registry import MODELS
from cdmx.utils.errors import CdmxError

HERE = os.path.dirname(os.path.abspath(__file__))


tiny = load_module('tiny_segmentors', os.path.join(
    os.path.dirname(HERE), 'test_models', 'test_segmentors', 'tiny_segmentors.py'))
tool = load_module('eval_auxiliary_head', os.path.join(
    REPO_ROOT, 'tools', 'analysis_tools', 'eval_auxiliary_head.py'))


@pytest.fixture(autouse=True)
def _scope(single_thread):
    init_default_scope('cdmx')
    yield


def build(cfg):
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model.eval()


def test_diffmatch_predicts_with_its_auxiliary_head():
    model = build(tiny.diffmatch_cfg(auxiliary_head=tiny.aux_head(16, 0)))
    inputs = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        denoised = model.encode_decode(inputs, [{}] * 2)
        assert tool.use_auxiliary_heads(model) == 1
        scores = model.encode_decode(inputs, [{}] * 2)
        expected = resize(model.auxiliary_head.forward([model.extract_pixel_embedding(inputs)]),
                          size=(32, 32), mode='bilinear', align_corners=False)
    assert scores.shape == denoised.shape == (2, tiny.NUM_CLASSES, 32, 32)
    assert torch.allclose(scores, expected) and not torch.allclose(scores, denoised)


def test_semi_supervised_wrapper_and_refusals():
    segmentor = tiny.diffmatch_cfg(auxiliary_head=tiny.aux_head(16, 0))
    segmentor.pop('data_preprocessor')
    for teacher, heads in ((dict(), 1), (dict(teacher='ema', ema_momentum=0.01), 2)):
        semi = build(dict(type='SemiSupervisedSegmentor', segmentor=segmentor,
                          data_preprocessor=dict(type='MultiBranchSegDataPreProcessor',
                                                 data_preprocessor=tiny.PREPROCESSOR),
                          **teacher))
        # the identical teacher is the student; an EMA teacher is a second DiffMatch
        assert tool.use_auxiliary_heads(semi) == heads
    with pytest.raises(CdmxError, match='no auxiliary_head'):
        tool.use_auxiliary_heads(build(tiny.diffmatch_cfg()))
    with pytest.raises(CdmxError, match='without a DiffMatch'):
        tool.use_auxiliary_heads(build(tiny.baseline_cfg()))
