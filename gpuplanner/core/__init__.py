"""The Qt-free heart of gpuplanner: specs, catalogs, plans, the fit and performance model."""
