"""Daily-partitioned assets: recording_metadata → recording_audio → recording_manifest."""
