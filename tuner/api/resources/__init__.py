"""The client's resource groups: files, jobs, models, chat, embeddings."""
