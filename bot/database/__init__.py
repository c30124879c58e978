"""The bot's database: predictions and answers, retraining jobs, the audit log."""

from bot.database.connection import DB_FILENAME, Database, DatabaseError, default_path
from bot.database.predictions import PredictionNotFoundError
from bot.database.records import Answer, AuditEntry, JobRecord, Prediction

__all__ = [
    "DB_FILENAME",
    "Answer",
    "AuditEntry",
    "Database",
    "DatabaseError",
    "JobRecord",
    "Prediction",
    "PredictionNotFoundError",
    "default_path",
]
