"""Vision-language SFT (sft_vlm): the tiny vision-language model learns the bundled image task; images and videos
come from a real HTTP server on 127.0.0.1 (cached, a 404 and a stalled URL named with their row), videos become
data.video_num_frames frames, FAI-RL's sft_vlm recipes train through the recipe translator, and Qwen2.5-VL-3B gets a
memory estimate counting image and frame tokens."""
from __future__ import annotations

import csv
import http.server
import io
import json
import threading
import time

import pytest
import yaml
from conftest import make_run
from PIL import Image

from fai_rl.config.schema import DataConfig, DatasetSpec
from fai_rl.errors import ConfigError, MediaUnavailable


def png(rgb: tuple, side: int = 20) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (side, side), rgb).save(out, format="PNG")
    return out.getvalue()


def mp4(frames: int = 20, rate: int = 10) -> bytes:
    """A 32x24 MPEG-4 video whose frame i is a flat colour with red = 12 * i (PyAV)."""
    import av

    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=rate)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "yuv420p"
        for i in range(frames):
            container.mux(stream.encode(av.VideoFrame.from_image(Image.new("RGB", (32, 24), (12 * i, 90, 90)))))
        container.mux(stream.encode())
    return out.getvalue()


IMAGES = {"/red.png": png((220, 30, 30)), "/blue.png": png((30, 60, 220)), "/big.png": png((30, 170, 40), 400),
          "/clip.mp4": mp4()}


class ImageServer:
    """Serves IMAGES on a free port; /slow.png answers only when the test ends; counts the requests per path."""

    def __init__(self):
        self.requests: dict = {}
        self.release = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests[self.path] = outer.requests.get(self.path, 0) + 1
                if self.path == "/slow.png":
                    outer.release.wait(60)
                body = IMAGES.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


@pytest.fixture
def server():
    s = ImageServer()
    yield s
    s.stop()


def write_csv(path, rows: list):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def colour_rows(url: str, n: int = 8) -> list:
    return [{"question": "What colour is it?", "response": name, "image": f"{url}/{name}.png",
             "video": f"{url}/clip.mp4"} for name in ["red", "blue"] * (n // 2)]


def load(path, tmp_path, videos=(), **data):
    from fai_rl.data.vlm import load_vlm_data

    spec = DatasetSpec(name=str(path), image_columns=["image"], video_columns=videos,
                       dataset_columns=["question", "response"])
    config = DataConfig(image_cache_dir=str(tmp_path / "cache"), video_cache_dir=str(tmp_path / "videos"),
                        user_prompt="{question}",
                        assistant_prompt="{response}", **data)
    return load_vlm_data([spec], config)


def test_the_tiny_vlm_learns_the_bundled_image_task(tmp_path, monkeypatch):
    """`fai-rl algorithm=sft_vlm` (composed and trained in this process to save a start-up): builtin:tiny_vlm on
    tiny_colors, the held-out loss falls in a few CPU steps."""
    from fai_rl.training.pipeline import train

    monkeypatch.chdir(tmp_path)
    run = make_run(["algorithm=sft_vlm", "training.max_steps=6", "training.progress_bar=false",
                    "data.eval_datasets=[{name: builtin:tiny_colors, split: test, image_columns: [image], "
                    "max_samples: 32}]"], tmp_path)
    assert run.model.base_model_name == "builtin:tiny_vlm" and run.model.freeze_vision_tower
    summary = train(run)
    assert summary["algorithm"] == "sft_vlm" and summary["steps"] == 6
    assert summary["eval_after"]["eval_loss"] < summary["eval_before"]["eval_loss"] - 0.4  # 6.17 -> 5.30 measured
    assert (tmp_path / "model" / "processor_config.json").exists()  # the processor is saved beside the model


def test_split_mode_learns_the_answer_with_the_image_before_the_question(tmp_path):
    from conftest import built_trainer

    trainer = built_trainer(["algorithm=sft_vlm", "data.datasets=[{name: builtin:tiny_colors, image_columns: [image], "
                             "max_samples: 4}]", "data.eval_datasets=[]",
                             "training.per_device_train_batch_size=2"], tmp_path)
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(2)])
    assert batch["pixel_values"].shape[0] == 2
    tok = trainer.processing_class.tokenizer
    for ids, labels, row in zip(batch["input_ids"].tolist(), batch["labels"].tolist(), trainer.train_dataset):
        text = tok.decode(ids, skip_special_tokens=False)
        assert text.index("<image>") < text.index(row["prompt"][0]["content"])
        learned = tok.decode([i for i, label in zip(ids, labels) if label != -100], skip_special_tokens=True)
        assert learned == row["completion"][0]["content"]
    frozen = {n for n, p in trainer.model.named_parameters() if not p.requires_grad}
    assert frozen and all("vision_tower" in n for n in frozen)  # model.freeze_vision_tower: the tower alone


def test_lora_adapts_the_language_model_only(tmp_path):
    from fai_rl.models.loading import language_model_lora, load_model
    from fai_rl.models.lora import peft_config

    run = make_run(["algorithm=sft_vlm", "model.lora.enabled=true"], tmp_path)
    config = language_model_lora(load_model(run.model, run.hardware, None, "image_text"), peft_config(run.model.lora))
    assert len(config.target_modules) == 2 * 7  # 2 layers x q, k, v, o, gate, up, down
    assert all(".language_model.layers." in name for name in config.target_modules)


@pytest.mark.slow  # a server on 127.0.0.1
def test_images_come_over_http_once_then_from_the_cache(server, tmp_path):
    path = write_csv(tmp_path / "train.csv", colour_rows(server.url) + [
        {"question": "Big?", "response": "green", "image": f"{server.url}/big.png"}])
    ds = load(path, tmp_path, max_image_pixels=1600)
    assert len(ds) == 9 and ds[0]["completion"][0]["content"] == "red"
    assert ds[0]["images"][0].size == (20, 20) and ds[0]["images"][0].getpixel((0, 0)) == (220, 30, 30)
    assert ds[8]["images"][0].size == (40, 40)  # 400x400 scaled down to data.max_image_pixels=1600
    assert server.requests == {"/red.png": 1, "/blue.png": 1, "/big.png": 1}  # repeated URLs: fetched once
    server.stop()
    assert len(load(path, tmp_path, max_image_pixels=1600)) == 9  # the server is gone: the cache answers
    assert not list((tmp_path / "cache").glob(".part-*"))


@pytest.mark.slow  # a server on 127.0.0.1
def test_a_missing_image_names_its_row_and_url_or_is_skipped(server, tmp_path):
    rows = colour_rows(server.url, 4)
    rows[2]["image"] = f"{server.url}/gone.png"
    path = write_csv(tmp_path / "train.csv", rows)
    with pytest.raises(MediaUnavailable, match=rf"dataset '{path}' \(data.datasets\) row 2, column 'image': image "
                                               rf"{server.url}/gone.png cannot be used: HTTP 404"):
        load(path, tmp_path, image_fetch_retries=2)
    assert server.requests["/gone.png"] == 1  # a 404 is not retried
    ds = load(path, tmp_path, media_errors="skip")
    assert [r["completion"][0]["content"] for r in ds] == ["red", "blue", "blue"]


@pytest.mark.slow  # a server on 127.0.0.1
def test_a_stalled_download_times_out(server, tmp_path):
    path = write_csv(tmp_path / "train.csv", [{"question": "q", "response": "r", "image": f"{server.url}/slow.png"}])
    started = time.monotonic()
    with pytest.raises(MediaUnavailable, match=r"row 0, .*slow.png cannot be used: .*timed out.*after 2 tries, "
                                               r"data.image_fetch_timeout=0.5s"):
        load(path, tmp_path, image_fetch_timeout=0.5, image_fetch_retries=1)
    assert time.monotonic() - started < 30  # the server holds the answer for 60 s


def test_a_local_file_that_is_no_image_is_named(tmp_path):
    (tmp_path / "note.png").write_text("not an image")
    path = write_csv(tmp_path / "train.csv", [{"question": "q", "response": "r", "image": "note.png"}])
    with pytest.raises(MediaUnavailable, match=r"row 0, column 'image': image note.png cannot be used: cannot "
                                               r"identify image file"):
        load(path, tmp_path)


@pytest.mark.slow  # an S3-compatible server (moto) on 127.0.0.1
def test_images_come_from_s3_through_the_storage_layer(tmp_path, monkeypatch):
    import boto3
    from services import S3_ENV, s3_server

    for key, value in S3_ENV.items():
        monkeypatch.setenv(key, value)
    with s3_server(tmp_path) as endpoint:
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="images")
        boto3.client("s3", endpoint_url=endpoint).put_object(Bucket="images", Key="red.png", Body=IMAGES["/red.png"])
        rows = [{"question": "q", "response": "red", "image": "s3://images/red.png"},
                {"question": "q", "response": "none", "image": "s3://images/gone.png"}]
        path = write_csv(tmp_path / "train.csv", rows)
        from fai_rl.data.vlm import load_vlm_data

        spec = DatasetSpec(name=str(path), image_columns=["image"], prompt_column="question",
                           s3_endpoint_url=endpoint)
        data = DataConfig(image_cache_dir=str(tmp_path / "cache"))
        with pytest.raises(MediaUnavailable, match=r"row 1, column 'image': image s3://images/gone.png cannot be "
                                                   r"used: FileNotFoundError.*after 1 try"):
            load_vlm_data([spec], data)
        ds = load_vlm_data([spec], DataConfig(image_cache_dir=str(tmp_path / "cache"), media_errors="skip"))
    assert len(ds) == 1 and ds[0]["images"][0].getpixel((0, 0)) == (220, 30, 30)


def fai_rl_recipe(data_file, **data) -> dict:
    """FAI-RL's sft_vlm recipe shape (its examples/sft_vlm), shrunk for the tiny model on CPU."""
    return {"model": {"base_model_name": "builtin:tiny_vlm", "torch_dtype": "float32", "freeze_vision_tower": True},
            "data": {"datasets": [{"name": str(data_file), "image_columns": ["image"], "video_columns": ["video"],
                                   "dataset_columns": ["question", "response"]}],
                     "image_cache_dir": "data/vlm_image_cache", "image_fetch_timeout": 15, "image_fetch_retries": 3,
                     "max_image_pixels": 262144, "video_cache_dir": "data/vlm_video_cache",
                     "video_fetch_timeout": 30, "video_fetch_retries": 3, "video_num_frames": 3, "video_fps": None,
                     "video_backend": "pyav", "max_length": 128,
                     "system_prompt": "Question: {question}\nResponse: {response}\n", **data},
            "training": {"algorithm": "sft_vlm", "output_dir": "models/out", "per_device_train_batch_size": 2,
                         "gradient_accumulation_steps": 1, "learning_rate": 1.0e-3, "num_train_epochs": 1,
                         "max_steps": -1, "warmup_steps": 0, "logging_steps": 1, "save_steps": 100, "bf16": False},
            "wandb": {"enabled": False}}


def recipe_run(recipe: dict, tmp_path, *extra):
    from fai_rl.cli import seed_recipe
    from fai_rl.cli.search_path import shipped

    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    loaded = seed_recipe.apply_overrides(seed_recipe.load(str(path)), list(extra))
    overrides = seed_recipe.to_overrides(loaded, shipped()) + seed_recipe.hardware_overrides(1, "cpu", shipped())
    return make_run([*overrides, "training.progress_bar=false", f"run_dir={tmp_path / 'run'}"])


@pytest.mark.slow  # a server on 127.0.0.1
def test_a_fai_rl_sft_vlm_recipe_with_image_and_video_urls_trains(server, tmp_path, monkeypatch):
    from fai_rl.data.vlm import load_vlm_data
    from fai_rl.training.pipeline import train

    monkeypatch.chdir(tmp_path)
    run = recipe_run(fai_rl_recipe(write_csv(tmp_path / "train.csv", colour_rows(server.url))), tmp_path,
                     "training.max_steps=3")
    assert run.algorithm.name == "sft_vlm" and run.data.datasets[0].video_columns == ["video"]
    assert run.data.video_num_frames == 3 and run.data.video_fetch_retries == 3
    summary = train(run)
    assert summary["status"] == "completed" and summary["steps"] == 3
    assert list((tmp_path / "data" / "vlm_image_cache").iterdir())  # the recipe's image_cache_dir
    assert [p.suffix for p in (tmp_path / "data" / "vlm_video_cache").iterdir()] == [".mp4"]  # fetched once
    rows = load_vlm_data(run.data.datasets, run.data)  # as it trained, now from the caches
    assert server.requests["/clip.mp4"] == 1 and len(rows) == 8
    red = [frame.getpixel((16, 12))[0] for frame in rows[0]["images"]]  # the image, then frames 0, 6, 13 of 20
    assert len(red) == 4 and red[0] == 220 and abs(red[1] - 0) < 12 and abs(red[2] - 72) < 12 and abs(red[3] - 156) < 12


@pytest.mark.slow  # a server on 127.0.0.1
def test_a_dead_or_broken_video_names_its_row_and_url_or_is_skipped(server, tmp_path):
    rows = colour_rows(server.url, 4)
    rows[1]["video"] = f"{server.url}/gone.mp4"
    path = write_csv(tmp_path / "train.csv", rows)
    with pytest.raises(MediaUnavailable, match=rf"dataset '{path}' \(data.datasets\) row 1, column 'video': video "
                                               rf"{server.url}/gone.mp4 cannot be used: HTTP 404 .*"
                                               r"data.video_fetch_timeout=30.0s"):
        load(path, tmp_path, ["video"], video_num_frames=2)
    (tmp_path / "note.mp4").write_text("not a video")
    rows[1]["video"], rows[3]["video"] = "note.mp4", None  # a broken file; a row without a video
    ds = load(write_csv(tmp_path / "train.csv", rows), tmp_path, ["video"], video_num_frames=2, media_errors="skip")
    assert [len(r["images"]) for r in ds] == [3, 3, 1]  # row 1 left out; each video 2 frames after the image
    with pytest.raises(MediaUnavailable, match=r"row 1, column 'video': video note.mp4 cannot be used: .*Invalid data"):
        load(path, tmp_path, ["video"])


def test_a_video_is_sampled_to_video_num_frames_frames_or_at_video_fps():
    from fai_rl.data.video import frame_indices, sample_frames

    video = IMAGES["/clip.mp4"]  # 20 frames at 10 frames a second, frame i red = 12 * i
    frames = sample_frames(video, 4)
    assert len(frames) == 4 and frames[0].size == (32, 24)
    assert [round(f.getpixel((16, 12))[0] / 12) for f in frames] == [0, 5, 10, 15]  # evenly over the video
    assert len(sample_frames(video, 8)) == 8 and len(sample_frames(mp4(frames=3), 8)) == 8  # short: repeated
    assert [round(f.getpixel((16, 12))[0] / 12) for f in sample_frames(video, 8, fps=4)] == [0, 2, 5, 7, 10, 12, 15, 17]
    assert frame_indices(20, 10.0, 3, fps=2) == [0, 5, 10]  # 2 a second is 4 frames: thinned to 3
    assert frame_indices(20, 10.0, 8, fps=2) == [0, 5, 10, 15]


@pytest.mark.parametrize("override, message", [
    ("data.video_num_frames=0", "'data.video_num_frames' must be > 0, got 0"),
    ("data.video_backend=decord", "'data.video_backend' must be one of 'pyav', got 'decord'"),
])
def test_video_settings_out_of_range_are_refused_in_one_line(override, message, tmp_path):
    with pytest.raises(ConfigError, match=f"^{message}$"):
        make_run(["algorithm=sft_vlm", override], tmp_path)


def test_a_text_only_model_is_refused_for_sft_vlm(tmp_path):
    from fai_rl.models.loading import load_tokenizer

    run = make_run(["algorithm=sft_vlm", "model=tiny"], tmp_path)
    with pytest.raises(ConfigError, match="'builtin:tiny' has a tokenizer but no image processor"):
        load_tokenizer(run.model, None, True)


def test_qwen2_5_vl_3b_gets_a_memory_estimate_counting_image_and_frame_tokens(tmp_path):
    from transformers import LlavaForConditionalGeneration

    from fai_rl.algorithms.sft_vlm import image_tokens
    from fai_rl.launch.memory import estimate, memory_line
    from fai_rl.models.shape import model_shape
    from fai_rl.models.tiny_vlm import tiny_vlm_path

    run = make_run(["algorithm=sft_vlm", "model=qwen2_5_vl_3b", "hardware=gpu"], tmp_path)
    assert run.model.base_model_name == "Qwen/Qwen2.5-VL-3B-Instruct"  # model= wins over the algorithm's demo model
    line = memory_line(run)
    assert "for 3.75B parameters (3.09B trained) from model_shapes.json: Qwen/Qwen2.5-VL-3B-Instruct" in line, line
    assert model_shape(run.model.base_model_name).vision == 668_684_288  # Qwen2.5-VL-3B's tower + merger, exact
    tower = ["algorithm=sft_vlm", "model=qwen2_5_vl_3b", "hardware=gpu", "model.freeze_vision_tower=false"]
    trained, fewer = make_run(tower, tmp_path), make_run([*tower, "data.max_image_pixels=50176"], tmp_path)
    assert estimate(run).device["activations"] < estimate(fewer).device["activations"] \
        < estimate(trained).device["activations"]  # a trained tower: + 256, + 1337 patch tokens a row
    videos = make_run([*tower, "data.datasets=[{name: builtin:tiny_colors, image_columns: [image], video_columns: "
                       "[video]}]", "data.video_num_frames=4"], tmp_path)
    assert image_tokens(videos) == 5 * 262144 // 14 ** 2  # the image + 4 frames, each max_image_pixels / 14x14
    assert estimate(videos).device["activations"] > estimate(trained).device["activations"]
    assert "for 3.75B parameters (3.75B trained)" in memory_line(trained)  # the tower trains too
    tiny = LlavaForConditionalGeneration.from_pretrained(tiny_vlm_path())  # the formula on a CLIP tower + LLaVA
    tower = sum(p.numel() for name, p in tiny.named_parameters() if "language_model" not in name and "lm_head" not in name)
    assert abs(model_shape("builtin:tiny_vlm").vision - tower) / tower < 0.02  # 21504 vs 21664 (pre/post norms)


def inference_recipe_file(tmp_path, data_file, **values) -> str:
    path = tmp_path / "infer.yaml"
    path.write_text(yaml.safe_dump({"inference": {"output_file": str(tmp_path / "out" / "answers.csv"),
                                                  "dataset_name": str(data_file), "dataset_columns": ["question"],
                                                  "max_new_tokens": 6, **values}}))
    return str(path)


@pytest.mark.slow  # a server on 127.0.0.1
def test_an_inference_recipe_answers_each_row_with_its_images_and_records_a_dead_url(server, tmp_path, monkeypatch):
    """`fai-rl-inference --recipe` with image_columns and video_columns: the tiny VLM trained 6 steps on tiny_colors
    and the untrained one answer side by side over a CSV of local PNG paths and URLs (fetched once, cached); the row
    whose image URL is gone is recorded failed with its row and URL, the others answered."""
    from fai_rl.cli.inference import main as inference_main
    from fai_rl.training.pipeline import train

    monkeypatch.chdir(tmp_path)
    train(make_run(["algorithm=sft_vlm", "training.max_steps=6", "training.progress_bar=false",
                    "data.eval_datasets=[]"], tmp_path))
    (tmp_path / "red.png").write_bytes(png((220, 30, 30)))
    (tmp_path / "blue.png").write_bytes(png((30, 60, 220)))
    images = [str(tmp_path / "red.png"), "blue.png", f"{server.url}/blue.png", f"{server.url}/gone.png"]
    questions = ["What colour is the square?", "Name the colour of the square.", "Which colour?", "What colour?"]
    data = write_csv(tmp_path / "colours.csv", [{"question": q, "image": i, "video": f"{server.url}/clip.mp4"}
                                                for q, i in zip(questions, images)])
    recipe = inference_recipe_file(tmp_path, data, model_paths=["builtin:tiny_vlm", str(tmp_path / "model")],
                                   image_columns=["image"], video_columns=["video"], video_num_frames=2)
    assert inference_main(["--recipe", recipe]) == 1  # a row failed
    rows = list(csv.DictReader(open(tmp_path / "out" / "answers.csv")))
    assert [r["image"] for r in rows] == images
    assert all(r["response_model"] and not r["error_model"] for r in rows[:3])  # the trained model answers
    assert all(r["response_builtin:tiny_vlm"] == "" for r in rows[:3])  # the untrained one stops at once
    for failed in (rows[3]["error_model"], rows[3]["error_builtin:tiny_vlm"]):
        assert failed.startswith(f"row 3, column 'image': image {server.url}/gone.png cannot be used: HTTP 404")
    assert server.requests == {"/blue.png": 1, "/clip.mp4": 1, "/gone.png": 2}  # the second model reads the cache


def test_media_columns_need_a_local_vision_language_model(tmp_path, capsys):
    from fai_rl.cli import inference_recipe
    from fai_rl.cli.inference import main as inference_main

    (tmp_path / "red.png").write_bytes(png((220, 30, 30)))
    data = write_csv(tmp_path / "colours.csv", [{"question": "What colour?", "image": str(tmp_path / "red.png")}])
    recipe = inference_recipe_file(tmp_path, data, model_path="builtin:tiny", image_columns=["image"])
    with pytest.raises(SystemExit) as stopped:
        inference_main(["--recipe", recipe])
    err = capsys.readouterr().err.strip()
    assert stopped.value.code == 2 and len(err.splitlines()) == 1
    assert "'inference.image_columns' needs a vision-language model" in err and "'builtin:tiny' reads text only" in err
    values = yaml.safe_load(open(recipe))["inference"]
    with pytest.raises(ConfigError, match="^'inference.video_columns' needs a local vision-language model .*not sent "
                                          "to API models$"):
        inference_recipe.check({**values, "model_path": None, "model": "gpt-4o-mini", "image_columns": [],
                                "video_columns": ["video"]})
    with pytest.raises(ConfigError, match="'evaluation.image_fetch_retries' must be >= 0, got -1"):
        inference_recipe.check({**values, "ground_truth_column": "x", "task": "gsm8k", "image_fetch_retries": -1},
                               "evaluation")


def test_fai_rl_generate_gives_a_vision_language_model_each_rows_image(tmp_path, capsys):
    """`fai-rl-generate --image-column image`: a completion per prompt of a JSONL file whose image column holds local
    PNG paths; a text-only model is refused in one line naming --image-column."""
    from fai_rl.cli.generate import main as generate_main

    (tmp_path / "red.png").write_bytes(png((220, 30, 30)))
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(f'{{"prompt": "{q}", "image": "{tmp_path / "red.png"}"}}\n'
                               for q in ("What colour is the square?", "Name the colour.")))
    out = tmp_path / "out.jsonl"
    argv = ["--prompts", str(prompts), "--out", str(out), "--image-column", "image", "--quiet", "--max-new-tokens", "4"]
    assert generate_main(["--model", "builtin:tiny_vlm", *argv]) == 0
    assert [json.loads(line)["prompt"] for line in out.read_text().splitlines()] == ["What colour is the square?",
                                                                                     "Name the colour."]
    with pytest.raises(SystemExit) as stopped:
        generate_main(["--model", "builtin:tiny", *argv])
    err = capsys.readouterr().err.strip()
    assert stopped.value.code == 2 and err.endswith("--image-column needs a vision-language model (trained with "
                                                    "algorithm=sft_vlm, e.g. from builtin:tiny_vlm); 'builtin:tiny' "
                                                    "reads text only")
