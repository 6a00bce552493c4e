"""Pictures of an episode (planlab.viz), success and plan statuses in results, wrapped angles in summaries."""

import json

import gymnasium
import numpy as np
import pytest

from planlab.cli import main
from planlab.core import Policy
from planlab.episodes import EpisodeResult, mpc_for_env, run_episode
from planlab.viz import plot_episode, save_video


class Integrator(gymnasium.Env):
    """x' = x + u; success (info["is_success"]) once |x| < 0.1."""

    observation_space = gymnasium.spaces.Box(-10.0, 10.0, (1,), np.float64)
    action_space = gymnasium.spaces.Box(-1.0, 1.0, (1,), np.float64)
    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, render_mode=None):
        self.render_mode = render_mode
        self.x = np.zeros(1)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x = np.array([2.0])
        return self.x.copy(), {"is_success": False}

    def step(self, a):
        self.x = self.x + np.clip(a, -1, 1)
        done = bool(abs(self.x[0]) < 0.1)
        return self.x.copy(), -float(self.x[0] ** 2), done, False, {"is_success": done}

    def render(self):
        img = np.zeros((8, 12, 3), dtype=np.uint8)
        img[:, int(np.clip(self.x[0] + 5, 0, 11))] = 255  # a bar where the state is
        return img


class Halfway(Policy):
    def act(self, obs):
        return -0.5 * np.asarray(obs)


class Never(Policy):
    def act(self, obs):
        return np.zeros(1)


def test_success_is_the_last_steps_is_success_and_none_when_the_env_reports_none():
    ok = run_episode(Integrator(), Halfway(), steps=20)
    assert ok.success is True and ok.terminated
    never = run_episode(Integrator(), Never(), steps=3)
    assert never.success is False
    pend = run_episode(gymnasium.make("Pendulum-v1"), mpc_for_env("Pendulum-v1", "shooting", horizon=3,
                                                                  population=8, seed=0), steps=2, seed=0)
    assert pend.success is None and pend.plan_statuses == ("ok", "ok")


def test_render_collects_one_frame_after_reset_and_one_per_step():
    res = run_episode(Integrator(render_mode="rgb_array"), Halfway(), steps=4, render=True)
    assert len(res.frames) == res.steps + 1
    assert int(np.argmax(res.frames[0][0, :, 0])) == 7  # x = 2 at reset
    with pytest.raises(ValueError, match="render: expected an env made with render_mode='rgb_array'"):
        run_episode(Integrator(), Halfway(), steps=2, render=True)


def test_gif_holds_the_frames_it_was_given(tmp_path):
    import imageio.v3 as iio

    frames = [np.full((6, 5, 3), c, dtype=np.uint8) for c in (0, 255, 0)]
    frames[2][:, :, 0] = 255
    path = save_video(frames, tmp_path / "ep.gif", fps=5)
    back = iio.imread(path, index=None)
    assert back.shape[:3] == (3, 6, 5)
    np.testing.assert_array_equal(back[..., :3], np.stack(frames))


def test_save_video_refuses_what_it_cannot_write(tmp_path):
    frame = np.zeros((4, 4, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"path: expected a file ending in .gif or .mp4"):
        save_video([frame], tmp_path / "x.avi")
    with pytest.raises(ValueError, match="frames: expected at least one frame"):
        save_video([], tmp_path / "x.gif")
    with pytest.raises(ValueError, match=r"frames: expected images of one shape .* at index 1"):
        save_video([frame, np.zeros((5, 4, 3), np.uint8)], tmp_path / "x.gif")
    with pytest.raises(ValueError, match="fps: expected a positive number"):
        save_video([frame], tmp_path / "x.gif", fps=0)
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match="imageio-ffmpeg"):
            save_video([frame], tmp_path / "x.mp4")


def test_plot_episode_writes_an_image(tmp_path):
    import matplotlib.image

    res = run_episode(Integrator(), Halfway(), steps=5)
    path = plot_episode(res, tmp_path / "ep.png", title="integrator")
    img = matplotlib.image.imread(path)
    assert img.shape[0] > 300 and img.shape[1] > 300
    with pytest.raises(TypeError, match="result: expected an EpisodeResult"):
        plot_episode(object(), tmp_path / "x.png")


def test_episode_result_repr_is_one_line_with_wrapped_angles():
    states = np.zeros((501, 2))
    states[-1, 0] = 2 * np.pi + 0.25
    res = EpisodeResult(states, np.zeros((500, 1)), np.zeros(500), angle_indices=(0,))
    text = repr(res)
    assert "\n" not in text and len(text) < 250 and "final_state=[0.25, 0]" in text


def test_planlab_run_prints_success_wrapped_angles_and_writes_the_pictures(tmp_path, capsys):
    gif, png = tmp_path / "ep.gif", tmp_path / "ep.png"
    argv = ["run", "--env", "planlab/PendulumSwingup-v0", "--planner", "shooting", "--population", "8",
            "--horizon", "3", "--steps", "2", "--x0", "6.2,0", "--json", "--save-video", str(gif), "--plot", str(png)]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert "success" in summary and summary["plan_status"] == {"ok": 2}
    assert -np.pi <= summary["final_state"][0] < np.pi
    assert gif.read_bytes()[:6] in (b"GIF89a", b"GIF87a") and png.read_bytes()[:4] == b"\x89PNG"
    assert main(["run", "--env", "Pendulum-v1", "--steps", "2", "--save-video", str(tmp_path / "x.avi")]) == 2
    assert "--save-video: expected a path ending in .gif or .mp4" in capsys.readouterr().err


@pytest.mark.parametrize("planner", ["mppi", "cem", "ilqr"])
def test_planlab_run_refuses_a_continuous_planner_on_a_discrete_env_naming_those_that_apply(planner, capsys):
    assert main(["run", "--env", "CartPole-v1", "--planner", planner, "--steps", "2"]) == 2
    err = capsys.readouterr().err
    assert f"--planner: {planner} plans continuous actions; CartPole-v1 has 2 discrete actions" in err
    assert "planners for discrete actions: shooting, uct" in err
