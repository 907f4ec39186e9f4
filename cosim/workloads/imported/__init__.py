"""Networks brought from elsewhere: ONNX models and NIR spiking networks on analog layers.

Modules, following the data path:

- :mod:`.ir`: the exchange form (:class:`~.ir.Graph` with ONNX semantics,
  :class:`~.ir.SpikingGraph` with NIR semantics) that importers read into and
  exporters write from;
- :mod:`.onnx_model`, :mod:`.nir_model`: files in (checked) and out of that form;
  the ONNX reference evaluator as the float oracle;
- :mod:`.data`: the user's inputs and labels, checked;
- :mod:`.windows`, :mod:`.ops`, :mod:`.matrices`: convolution windows, the
  digital operators (numpy, ONNX semantics, their work counted), the analog
  operators as weight matrices (im2col);
- :mod:`.schemes`: one matrix placed with HAQ, PTQ or tuned pairs;
- :mod:`.network`, :mod:`.run`: an ONNX graph run on the float model and on each
  deployment; :mod:`.spiking`: a NIR network's timestep loop and early stop;
- :mod:`.results`: the config, per-layer and per-scheme results, the workload.

Importing this package imports neither ``onnx`` nor ``nir`` (the optional
``import`` extra); the modules that need them ask for them when called.
"""
