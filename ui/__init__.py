"""The Gradio user interface: settings, shared helpers, and one module per tab.

Each tab module has plain handler functions (callable without a browser) and a `build()` that
lays the tab out and wires its events inside the current gr.Blocks. app.py puts the tabs together.
"""
