//! Small charts in text: a sparkline of block characters, for `adctl pacing show`.

/// The eight heights of a sparkline cell, lowest first.
const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// One cell per value, its height against `max` (a value of 0, or none, is a space; any value
/// above 0 shows at least the lowest block).
pub fn sparkline(values: &[Option<f64>], max: f64) -> String {
    values
        .iter()
        .map(|value| match value {
            Some(v) if *v > 0.0 && max > 0.0 => {
                let step = ((v / max) * BLOCKS.len() as f64).ceil() as usize;
                BLOCKS[step.clamp(1, BLOCKS.len()) - 1]
            }
            _ => ' ',
        })
        .collect()
}

/// The hour marks under an hourly sparkline of `hours` cells: `0`, `6`, `12`, `18`.
pub fn hour_axis(hours: usize) -> String {
    let mut axis = vec![' '; hours];
    for mark in (0..hours).step_by(6) {
        for (i, c) in mark.to_string().chars().enumerate() {
            if let Some(cell) = axis.get_mut(mark + i) {
                *cell = c;
            }
        }
    }
    axis.into_iter().collect::<String>().trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heights_follow_the_values_against_the_largest() {
        let line = sparkline(&[Some(0.0), Some(1.0), Some(4.0), Some(8.0), None], 8.0);
        assert_eq!(line, " ▁▄█ ");
        // tiny values still show
        assert_eq!(sparkline(&[Some(0.001)], 8.0), "▁");
        assert_eq!(sparkline(&[Some(3.0)], 0.0), " ");
    }

    #[test]
    fn the_axis_marks_every_sixth_hour() {
        assert_eq!(hour_axis(24), "0     6     12    18");
        assert_eq!(hour_axis(3), "0");
    }
}
