"""SMS and voice hotline for families in Batken: benefits, complaints, danger-sign reminders."""
