import json

import pytest

from planlab.core.files import atomic_write


def test_atomic_write_replaces_the_file_and_a_failed_write_keeps_the_old_one(tmp_path):
    path = tmp_path / "sub" / "a.json"
    assert atomic_write(path, lambda f: json.dump({"v": 1}, f), text=True) == path
    assert json.loads(path.read_text()) == {"v": 1}

    def crash(f):
        f.write("{half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, crash, text=True)
    assert json.loads(path.read_text()) == {"v": 1}
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.json"]  # no temporary left behind
