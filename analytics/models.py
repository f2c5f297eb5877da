"""RFM, CLV, churn, cohorts, KPIs and segments (tenant schema). Models arrive with the analytics issue."""
