import argparse
import json
import sys

import _common
from _common import REPO_ROOT, datasets_dir, write_json


def test_results_name_no_host_folders(tmp_path, monkeypatch) -> None:
    data = tmp_path / "datasets"
    (data / "sst2").mkdir(parents=True)
    (data / "sst2" / "train.tsv").write_text("text\tlabel\n")
    monkeypatch.setattr(_common, "_HOST_PATHS", {})
    assert datasets_dir(argparse.ArgumentParser(), str(data), ["sst2/train.tsv"]) == data
    payload = {
        "command": f"{sys.executable} benchmarks/x.py --datasets {data} --model {REPO_ROOT}/m",
        "runs": [{"datasets": str(data), "n": 3}],
        "repo": str(REPO_ROOT),
    }
    out = write_json(tmp_path / "r.json", payload)
    written = json.loads(out.read_text())
    assert written == {
        "command": "python benchmarks/x.py --datasets DIR --model m",
        "runs": [{"datasets": "DIR", "n": 3}],
        "repo": ".",
    }
