"""Every chart as data: Vega-Lite specifications the browser draws, as wide as their panel; no pixels
are rendered on the server.

    plot_base       what every chart shares: colours, the envelope of a long wave at screen resolution
    plots           one analysis (the Analyze tab): waveform, spectrogram, probabilities; `chart()`
    timeline_plots  emotion over time under the waveform (long recordings, the Live tab's history)
    metric_plots    model evaluation (the Metrics tab): confusion matrix, per class, calibration

May import: emotion.longform (how the timeline's windows share time) and numpy/pandas; nothing of
the model or the Predictor.
"""
