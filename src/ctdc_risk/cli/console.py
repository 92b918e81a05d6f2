"""What the terminal shows at the end of a command (rich, never inside library code)."""

from __future__ import annotations

from rich.console import Console

from ctdc_risk.pipeline.describe import DescribeResult


def print_describe_summary(result: DescribeResult) -> None:
    console = Console(stderr=False, highlight=False)
    console.print()
    console.print("[bold]Data[/bold]")
    for line in result.data_report.summary_lines():
        console.print(f"  {line}")
    h = result.headline
    console.print()
    console.print(f"[bold]Family recruitment[/bold] (cohort {h.cohort}, {h.n_cohort:,} cases)")
    for group, share in h.family.items():
        if share.share is None or share.ci95 is None:
            shown = f"suppressed (<{h.k} cases)"
        else:
            lo, hi = share.ci95
            shown = f"{share.share:.1%} (95 % CI {lo:.1%} to {hi:.1%}) of {share.n:,}"
        console.print(f"  {group:<9} {shown}")
    ratio = h.child_adult_ratio
    if ratio.ratio is not None and ratio.ci95 is not None:
        console.print(
            f"  children vs adults: {ratio.ratio:.1f}x "
            f"(95 % CI {ratio.ci95[0]:.1f} to {ratio.ci95[1]:.1f})"
        )
    console.print()
    console.print(f"[bold]Outputs[/bold] in {result.out_dir}")
    for path in result.files:
        console.print(f"  {path.name}")
