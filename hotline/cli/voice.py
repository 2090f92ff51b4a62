"""`hotline voice`: the voice line's audio prompts."""

from __future__ import annotations

import typer

from hotline.cli.base import app, load_settings
from hotline.context import build_context
from hotline.places import get_gazetteer
from hotline.voice import prompts

voice_app = typer.Typer(help="Audio prompts of the voice line.", no_args_is_help=True)
app.add_typer(voice_app, name="voice")


@voice_app.command("build")
def voice_build() -> None:
    """Render every voice prompt to audio with espeak-ng (only those whose text changed); a recorded file with
    the same name under HOTLINE_VOICE_RECORDED_DIR is played instead."""
    settings = load_settings()
    ctx = build_context(settings)
    try:
        report = prompts.build_audio(
            ctx.texts, prompts.Prompts(ctx.catalogue, get_gazetteer()).every(), settings.voice_audio_dir
        )
    except RuntimeError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from exc
    typer.echo(
        f"{report.written} written, {report.unchanged} unchanged, {report.removed} removed "
        f"in {settings.voice_audio_dir}"
    )


@voice_app.command("check")
def voice_check() -> None:
    """List prompts without audio (played with <Say>, in Russian for ky and uz) and misnamed recordings."""
    settings = load_settings()
    ctx = build_context(settings)
    library = prompts.AudioLibrary(settings.voice_audio_dir, settings.voice_recorded_dir)
    report = prompts.check_audio(library, prompts.Prompts(ctx.catalogue, get_gazetteer()).every())
    typer.echo(f"recorded {len(report.recorded)}, generated {len(report.generated)}, missing {len(report.missing)}")
    for language, key in report.missing:
        fallback = "<Say> in Russian" if language not in prompts.TWILIO_VOICES else "<Say>"
        typer.echo(f"missing  {language}/{key}  ({fallback})")
    for path in report.unknown_recordings:
        typer.echo(f"unused   {path}  (no prompt has this name: see `hotline voice check` names above)")
    if not report.ok:
        raise typer.Exit(1)
