"""Reports: report.md and its plots from metrics.json files, and pictures of DiffAug's generated views."""
