"""The bot's database: predictions and answers, retraining jobs, event keys, the audit log."""

from bot.database.connection import MIGRATE_COMMAND, Database, DatabaseError
from bot.database.jobs import JobConflict
from bot.database.predictions import PredictionNotFoundError
from bot.database.records import Answer, JobRecord, Prediction

__all__ = [
    "MIGRATE_COMMAND",
    "Answer",
    "Database",
    "DatabaseError",
    "JobConflict",
    "JobRecord",
    "Prediction",
    "PredictionNotFoundError",
]
