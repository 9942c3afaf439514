"""Rendering on a local Ray (2 CPUs): the same takes as a local render, and a lost actor's takes are retried."""

from __future__ import annotations

import os

import pytest

from core.cli.main import main
from core.render.cluster import ACTOR_PREFIX, RayBackend
from core.render.manifest import read_manifest
from core.render.runner import render_manifest
from tests.core.render.render_helpers import assert_same_takes, report

if os.environ.get("SOUNDDESK_REQUIRE_FIXTURES") == "1":  # CI installs the cluster extra: Ray must be there
    import ray
else:
    ray = pytest.importorskip("ray", reason="Ray is the optional cluster extra: pip install -e '.[cluster]'")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_takes_equal_the_local_render(manifest, reference, local_ray, tmp_path):
    out = tmp_path / "out"
    assert main(["render", str(manifest), "--out", str(out), "--cluster", "ray"]) == 0
    assert_same_takes(out, reference)
    assert report(out)["backend"] == "Ray (ray)"
    assert ray.is_initialized()  # a Ray the caller started is left running


def test_killing_an_actor_mid_render_still_renders_every_take_once(manifest, reference, local_ray, tmp_path):
    out = tmp_path / "out"
    killed: list[str] = []

    def kill_one_actor(state) -> None:
        if state.done == 1 and not killed:
            (name,) = [n for n in ray.util.list_named_actors() if n.startswith(ACTOR_PREFIX)]
            ray.kill(ray.get_actor(name), no_restart=True)  # its worker process dies with the takes it holds
            killed.append(name)

    result = render_manifest(read_manifest(manifest), out, RayBackend("ray"), kill_one_actor)
    assert killed
    assert len(result.done) == 4 and not result.failed
    assert len({entry["key"] for entry in result.done}) == 4
    assert_same_takes(out, reference)
    assert not [n for n in ray.util.list_named_actors() if n.startswith(ACTOR_PREFIX)]  # all stopped at the end
