"""Historical market data shipped with the package (see NOTICE.md); read by :mod:`mcsim.core.history`."""
