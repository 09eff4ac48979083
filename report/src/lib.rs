//! FOX monthly service report: availability per site, member port and service against the
//! targets, RTT and loss per path with daily charts, faults with likely causes, route server
//! summary, traffic per member and top pairs; computed from the history store and written as
//! one self-contained HTML file (SVG charts from plotters), JSON or CSV.

#![warn(missing_docs)]

mod avail;
mod build;
pub mod cli;
mod csv;
mod figures;
mod html;
mod hygiene;
mod layout;
pub mod model;
mod period;

pub use build::{build, Options};
pub use csv::to_csv;
pub use html::to_html;
pub use layout::{Layout, LayoutMember};
pub use model::Report;
pub use period::Period;

/// What can go wrong making a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// `--month` is not `YYYY-MM`.
    #[error("bad month `{0}`: expected YYYY-MM")]
    Month(String),
    /// Unknown IANA time zone.
    #[error("unknown time zone `{0}`")]
    TimeZone(String),
    /// `--member` names no member.
    #[error("no member `{0}` in the configuration")]
    UnknownMember(String),
    /// `--site` names no site.
    #[error("no site `{0}` in the configuration")]
    UnknownSite(String),
    /// The store could not be read.
    #[error(transparent)]
    History(#[from] fox_history::HistoryError),
    /// A chart could not be drawn.
    #[error("chart: {0}")]
    Chart(String),
    /// The report could not be encoded.
    #[error("encoding: {0}")]
    Encode(String),
}
