"""Readers and writers of dataset formats, and demo-data generators. No torch."""
