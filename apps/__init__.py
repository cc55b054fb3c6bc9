"""edgec.apps: demo applications (faces, OCR, split inference) and their shared helpers."""
