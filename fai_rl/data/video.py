"""Videos named by data rows (sft_vlm): fetched as images are (fai_rl/data/media.py: URL, s3://, path, bytes; the
cache in data.video_cache_dir), decoded with PyAV (data.video_backend) and sampled to frames, each an image scaled
down to data.max_image_pixels.

Sampling: data.video_num_frames frames spread evenly over the video (frame i of n is the video's frame
floor(i * total / n), so a video shorter than n frames repeats some); with data.video_fps, frames at that rate
from the start, evenly thinned to at most data.video_num_frames.
"""
from __future__ import annotations

import io
from typing import Optional

import av

from fai_rl.config.schema import DataConfig
from fai_rl.data.media import raw, stored, unavailable


def frame_indices(total: int, rate: float, num_frames: int, fps: Optional[float]) -> list:
    """Indices of the frames to keep of a video of `total` frames at `rate` frames a second."""
    if fps:
        step = max(rate / fps, 1.0) if rate else 1.0
        timed = [int(k * step) for k in range(int((total - 1) / step) + 1)]
        if len(timed) <= num_frames:
            return timed
        return [timed[int(i * len(timed) / num_frames)] for i in range(num_frames)]
    return [int(i * total / num_frames) for i in range(num_frames)]


def sample_frames(payload: bytes, num_frames: int, fps: Optional[float] = None) -> list:
    """The sampled frames (PIL images) of one encoded video; OSError/ValueError when it holds no decodable video."""
    with av.open(io.BytesIO(payload)) as container:
        if not container.streams.video:
            raise OSError("the file holds no video stream")
        stream = container.streams.video[0]
        rate = float(stream.average_rate or 0)
        frames = list(container.decode(stream)) if not stream.frames else None  # frame count unknown: count them
        total = stream.frames or len(frames)
        if not total:
            raise OSError("the video holds no frames")
        wanted = frame_indices(total, rate, num_frames, fps)
        if frames is not None:
            return [frames[i].to_image() for i in wanted]
        kept, last, index = {}, max(wanted), -1
        for index, frame in enumerate(container.decode(stream)):
            if index in wanted:
                kept[index] = frame.to_image()
            if index >= last:
                break
        if len(kept) < len(set(wanted)):  # the header counted more frames than decode gave
            raise OSError(f"the video decoded {index + 1} of the {total} frames its header names")
        return [kept[i] for i in wanted]


def load_video(cell, data: DataConfig, spec, where: str) -> list:
    """One video cell -> its sampled frames in datasets' Image form, each scaled down to data.max_image_pixels;
    MediaUnavailable naming `where` (file, row, column) and the URL when it cannot be had or decoded."""
    source = str(cell)[:200] if isinstance(cell, str) else "video bytes"
    try:
        payload, source = raw(cell, data, spec, "video")
        frames = sample_frames(payload, data.video_num_frames, data.video_fps)
    except (OSError, ValueError, av.FFmpegError) as err:
        raise unavailable(where, "video", source, err)
    return [stored(frame, data) for frame in frames]
