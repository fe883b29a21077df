"""Issue 24, item 9: the API and the labels say what is there. view_api() is not 35 KB of clip
ids, the calibration line names the temperature the app applies, and the API docs give the
upload limit's advice. (The figures' alt text is checked in the browser:
tests/test_browser_rough_edges.py.)

    python -m pytest -q tests/test_api_labels.py
"""

from __future__ import annotations

import json

import pytest
from support import require_checkpoint

require_checkpoint()

import app  # noqa: E402
from ui import metrics as metrics_tab  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated")


def test_view_api_is_short_and_example_takes_a_clip_id_as_text(served_app):
    from gradio_client import Client

    client = Client(served_app, verbose=False)
    text = client.view_api(print_info=False, return_format="str")
    ids = app.RESOURCES.library.frame["id"]
    assert sum(i in text for i in ids[:50]) <= 1, "the clip ids are listed as literals"
    assert len(text) < 12_000, len(text)  # was 35 KB, mostly the 1,200 ids of /example's dropdown
    (param,) = app.demo.get_api_info()["named_endpoints"]["/example"]["parameters"]
    assert param["component"] == "Textbox" and param["type"] == {"type": "string"}
    assert "Literal" not in json.dumps(param)
    _, verdict, _ = client.predict(ids.iloc[0], api_name="/example")  # still answers
    assert "True emotion" in verdict


@pytest.mark.parametrize("variant", ["as shipped", "single head only", "ensemble in metrics.json"])
def test_the_calibration_line_names_the_temperature_the_app_applies(variant):
    shipped = app.RESOURCES.metrics
    if not shipped:
        pytest.skip("no metrics.json")
    applied = app.RESOURCES.predictor.temperature
    metrics = dict(shipped)
    if variant == "single head only":  # the issue: T = 0.99 of one fold model, the ensemble's is 0.94
        metrics.pop("ensemble_calibration", None)
        metrics["temperature"] = applied + 0.05
    elif variant == "ensemble in metrics.json":
        metrics["temperature"] = applied + 0.05
        metrics["ensemble_calibration"] = dict(temperature=applied, ece=0.031, ece_calibrated=0.041)
    text = metrics_tab.headline(metrics, metrics_tab.SHIPPED_SOURCE)
    assert f"T = {applied:.2f}" in text, text
    if variant == "ensemble in metrics.json":
        assert "shipped ensemble" in text and "ECE 0.031 before, 0.041 after" in text


def test_the_api_docs_give_the_upload_limits_advice():
    api = app.demo.get_api_info()["named_endpoints"]
    for name in ("/predict", "/explain", "/probabilities", "/timeline"):
        assert "python -m emotion.predict --timeline FILE" in api[name].get("description", ""), name
