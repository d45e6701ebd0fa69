"""tools/analysis_tools/gdui_fig2.py: Fig. 2 from per-iteration metrics files."""
import json
import os

import pytest
from tool_runner import REPO_ROOT, load_module

from cdmx.utils.errors import CdmxError

tool = load_module('gdui_fig2', os.path.join(REPO_ROOT, 'tools', 'analysis_tools',
                                              'gdui_fig2.py'))


def write_metrics(folder, fid: float, accuracy=None) -> None:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, 'metrics.json'), 'w') as f:
        json.dump(dict(FID=fid, sFID=2 * fid, IS=3.0, precision=0.6, recall=0.4,
                       class_accuracy=accuracy, num_samples=500), f)


def test_curves_sorted_by_iteration_with_the_floor(tmp_path, capsys):
    write_metrics(tmp_path / 'gdui' / 'iter_1500', 20.0, 0.7)
    write_metrics(tmp_path / 'gdui' / 'iter_500', 40.0, 0.5)
    os.makedirs(tmp_path / 'gdui' / 'iter_1000')  # not scored: left out
    write_metrics(tmp_path / 'gdui' / 'notes', 1.0)  # not an iteration folder
    write_metrics(tmp_path / 'unconditional' / 'iter_1500', 30.0)
    write_metrics(tmp_path / 'floor', 5.0, 0.9)
    tool.main([f'GDUI={tmp_path / "gdui"}', f'unconditional={tmp_path / "unconditional"}',
               '--floor', str(tmp_path / 'floor' / 'metrics.json'),
               '--out-dir', str(tmp_path / 'fig')])
    result = json.loads((tmp_path / 'fig' / 'fig2.json').read_text())
    gdui = result['curves']['GDUI']
    assert gdui['iterations'] == [500, 1500] and gdui['FID'] == [40.0, 20.0]
    assert gdui['sFID'] == [80.0, 40.0] and gdui['class_accuracy'] == [0.5, 0.7]
    assert result['curves']['unconditional']['class_accuracy'] == [None]
    assert result['floor']['FID'] == 5.0
    png = (tmp_path / 'fig' / 'fig2.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 20000
    assert 'GDUI: iter 500: FID 40.00, iter 1500: FID 20.00' in capsys.readouterr().out


def test_a_curve_without_metrics_is_refused(tmp_path):
    os.makedirs(tmp_path / 'empty' / 'iter_500')
    with pytest.raises(CdmxError, match='holds no iter_<N>/metrics.json'):
        tool.main([f'GDUI={tmp_path / "empty"}', '--out-dir', str(tmp_path / 'fig')])
    with pytest.raises(CdmxError, match='is not NAME=DIR'):
        tool.main([str(tmp_path / 'empty'), '--out-dir', str(tmp_path / 'fig')])
    assert not (tmp_path / 'fig').exists()
