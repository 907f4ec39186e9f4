"""Workloads: compositions of analog layers and digital steps that return results
and the events they counted. No file I/O and no figures here (``cosim.outputs``)."""
