//! Dashboard charts drawn on the server as SVG by `plotters` (SVG back end only: no bitmap,
//! no font files; the browser lays the text out). The SVG is written inline in the page: it
//! carries presentation attributes only, no script and no `style` attribute, so the page's
//! Content-Security-Policy holds. Labels come from the store (tags, data types) and are
//! escaped by the SVG back end.

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

/// Chart size in pixels (scaled down by CSS on narrow screens).
const SIZE: (u32, u32) = (560, 300);
/// Bar and line colours, by series.
const COLOURS: [RGBColor; 4] = [
    RGBColor(0x2f, 0x6f, 0xb3),
    RGBColor(0xd9, 0x7b, 0x1c),
    RGBColor(0x3a, 0x9a, 0x5b),
    RGBColor(0xc0, 0x39, 0x2b),
];

/// Colours of the severities Low, Medium, High, Critical.
pub const SEVERITY_COLOURS: [RGBColor; 4] = [
    RGBColor(0x3a, 0x9a, 0x5b),
    RGBColor(0xe0, 0xa8, 0x00),
    RGBColor(0xd9, 0x6b, 0x1c),
    RGBColor(0xc0, 0x39, 0x2b),
];

/// Vertical bars, one per `(label, value)`, in order; bar `i` gets `colours[i]` (cycling), or
/// the first series colour when `colours` is empty. An empty list still draws the axes.
pub fn bars(caption: &str, items: &[(String, f64)], colours: &[RGBColor]) -> String {
    let mut svg = String::new();
    let drawn = draw_bars(&mut svg, caption, items, colours);
    finish(svg, caption, drawn)
}

fn draw_bars(
    svg: &mut String,
    caption: &str,
    items: &[(String, f64)],
    colours: &[RGBColor],
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    let count = items.len().max(1) as i32;
    let top = items.iter().map(|(_, value)| *value).fold(0.0, f64::max);
    let top = if top <= 0.0 { 1.0 } else { top * 1.15 };
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d((0..count).into_segmented(), 0.0..top)?;
    let labels: Vec<String> = items.iter().map(|(label, _)| shorten(label)).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(items.len().max(1))
        .x_label_formatter(&|value| match value {
            SegmentValue::CenterOf(index) | SegmentValue::Exact(index) => labels
                .get(usize::try_from(*index).unwrap_or(usize::MAX))
                .cloned()
                .unwrap_or_default(),
            SegmentValue::Last => String::new(),
        })
        .y_label_formatter(&|value| format_number(*value))
        .draw()?;
    chart.draw_series(items.iter().enumerate().map(|(index, (_, value))| {
        let index = index as i32;
        let colour = if colours.is_empty() {
            COLOURS[0]
        } else {
            colours[usize::try_from(index).unwrap_or(0) % colours.len()]
        };
        let mut bar = Rectangle::new(
            [
                (SegmentValue::Exact(index), 0.0),
                (SegmentValue::Exact(index + 1), *value),
            ],
            colour.filled(),
        );
        bar.set_margin(0, 0, 6, 6);
        bar
    }))?;
    root.present()?;
    Ok(())
}

/// One line per series over days (`(day start in epoch ms, value)`), with a legend.
pub fn lines(caption: &str, series: &[(&str, Vec<(i64, f64)>)]) -> String {
    let mut svg = String::new();
    let drawn = draw_lines(&mut svg, caption, series);
    finish(svg, caption, drawn)
}

fn draw_lines(
    svg: &mut String,
    caption: &str,
    series: &[(&str, Vec<(i64, f64)>)],
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    let points = || series.iter().flat_map(|(_, points)| points.iter());
    let first = points().map(|(day, _)| *day).min().unwrap_or(0);
    let last = points()
        .map(|(day, _)| *day)
        .max()
        .unwrap_or(first + 1)
        .max(first + 1);
    let top = points().map(|(_, value)| *value).fold(0.0, f64::max);
    let top = if top <= 0.0 { 1.0 } else { top * 1.15 };
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(first..last, 0.0..top)?;
    chart
        .configure_mesh()
        .x_labels(6)
        .x_label_formatter(&|millis| {
            chrono::DateTime::from_timestamp_millis(*millis)
                .map(|date| date.format("%m-%d").to_string())
                .unwrap_or_default()
        })
        .y_label_formatter(&|value| format_number(*value))
        .draw()?;
    for (index, (name, points)) in series.iter().enumerate() {
        let colour = COLOURS[index % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                colour.stroke_width(2),
            ))?
            .label(*name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK.mix(0.3))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    root.present()?;
    Ok(())
}

/// The SVG made scalable (a `viewBox`, so CSS can fit it to narrow screens) and labelled for
/// screen readers; or a short note when drawing failed (it never should: ranges are checked).
fn finish(svg: String, caption: &str, drawn: Result<(), Box<dyn std::error::Error>>) -> String {
    match drawn {
        Ok(()) => {
            let mut label = String::new();
            skep_web::escape(&mut label, caption);
            svg.replacen(
                "<svg ",
                &format!(
                    "<svg viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{label}\" ",
                    SIZE.0, SIZE.1
                ),
                1,
            )
        }
        Err(error) => {
            tracing::warn!(%error, "a dashboard chart could not be drawn");
            String::from("<p class=\"muted\">This chart could not be drawn.</p>")
        }
    }
}

fn shorten(label: &str) -> String {
    if label.chars().count() > 14 {
        let mut short: String = label.chars().take(13).collect();
        short.push('…');
        short
    } else {
        label.to_owned()
    }
}

fn format_number(value: f64) -> String {
    if value.fract().abs() < 1e-9 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_svg_with_escaped_labels_and_no_script() {
        let svg = bars(
            "Top tags",
            &[("<script>x</script>".into(), 3.0), ("mail".into(), 1.0)],
            &[],
        );
        assert!(svg.starts_with("<svg viewBox=\"0 0 560 300\""), "{svg}");
        assert!(svg.contains("<rect"), "{svg}");
        assert!(!svg.contains("<script"), "{svg}");
        assert!(!svg.contains("style="), "{svg}");
    }

    #[test]
    fn lines_draw_every_series_with_a_legend() {
        let day = 86_400_000;
        let svg = lines(
            "Per day",
            &[
                ("cases", vec![(0, 1.0), (day, 3.0)]),
                ("alerts", vec![(0, 2.0), (day, 0.0)]),
            ],
        );
        assert!(svg.contains("<polyline"), "{svg}");
        assert!(svg.contains("cases") && svg.contains("alerts"), "{svg}");
    }
}
