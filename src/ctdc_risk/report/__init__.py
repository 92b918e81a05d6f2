"""The study report for program designers: content (plain words), figures, HTML and Markdown."""
