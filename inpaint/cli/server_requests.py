"""The JSON bodies the page's API accepts, checked by pydantic: each field of a known name and type, nothing else.

A model here checks what a request *is* (names, JSON types, choices) and gives its JSON schema to the OpenAPI
document; what a request *means* (ranges, a budget for restore, a size for extend) stays with the library's
request classes, :class:`~inpaint.cli.server_methods.FillRequest` and
:class:`~inpaint.cli.server_methods.TextureRequest`, which the jobs are made of.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..prior import PRIOR
from .server_methods import INITS, METHODS, FillRequest, TextureRequest

__all__ = ["FillJob", "TextureJob", "parse_job", "request_error"]


class _Body(BaseModel):
    """Unknown names are refused, and JSON types are not coerced (``"5"`` is not a number, ``true`` not 1)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class FillJob(_Body):
    """``POST /api/jobs``: fill the painted hole of an image."""

    image: str = Field(description="an image id (POST /api/images)")
    mask: str = Field(description="the hole as a PNG data URL (data:image/png;base64,...), white = hole")
    method: Literal[METHODS] = Field(description="the fill: classical, a model, or restore (trains on the image)")
    model: str = Field("cork", description="method 'model': a shipped model or one given to serve --checkpoint")
    steps: Optional[int] = Field(None, description="sampling steps (default: the default sampler's)")
    seed: int = Field(0, description="seed of the noise (and of restore's training)")
    minutes: Optional[float] = Field(1.0, description="restore: training budget in minutes")
    train_steps: Optional[int] = Field(None, description="restore: training steps instead of minutes")
    crop: int = Field(64, description="restore: side of the training crops, a multiple of 8")
    batch: int = Field(16, description="restore: training crops per step")
    init: Literal[INITS] = Field("scratch", description="restore: train from scratch or from the texture prior")

    def request(self) -> FillRequest:
        return FillRequest(**self.model_dump(exclude={"image", "mask"}))


class TextureJob(_Body):
    """``POST /api/images/{id}/tile`` and ``/extend``: a texture action on the whole image."""

    model: str = Field(PRIOR, description="a shipped model or one given to serve --checkpoint")
    minutes: Optional[float] = Field(None, description="fine-tune a model on the image this long first "
                                                       "(null: use the model as it is)")
    seed: int = Field(0, description="seed of the noise (and of the training)")
    band: int = Field(16, description="tile: width in pixels of the band across each seam")
    width: Optional[int] = Field(None, description="extend: the new width")
    height: Optional[int] = Field(None, description="extend: the new height")

    def request(self, action: str) -> TextureRequest:
        return TextureRequest(action, **self.model_dump())



def request_error(exc: ValidationError) -> str:
    """The first problem of a body, in one line: ``'steps': Input should be a valid integer``."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    if first["type"] == "extra_forbidden":
        return f"unknown option {where!r}"
    return f"{where!r}: {first['msg']}" if where else first["msg"]


def parse_job(model: type[_Body], body: dict) -> _Body:
    """``body`` as ``model``, or ``ValueError`` with :func:`request_error`'s line."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise ValueError(request_error(exc)) from None
