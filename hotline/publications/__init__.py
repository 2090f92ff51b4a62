"""What programme staff print or hand to funders (#21 points 3 and 5): the grievance report as a page, CSV and PDF,
and the leaflets and posters of each municipality (docs/REPORTS.md)."""
