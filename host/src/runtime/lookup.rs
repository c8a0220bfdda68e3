//! The `name-lookup` interface: policy-checked resolution that records which
//! names gave which addresses.

use std::net::IpAddr;

use super::bindings::wasock::sockets::name_lookup::Host;
use super::bindings::wasock::sockets::types::{AddressFamily, IpAddress};
use super::convert::ip_from_std;
use super::ctx::WasockCtxView;
use super::error::SocketResult;
use crate::net::ErrorCode;
use crate::policy::{NameError, normalize_name};

fn family_matches(ip: &IpAddr, family: Option<AddressFamily>) -> bool {
    match family {
        None => true,
        Some(AddressFamily::Ipv4) => ip.is_ipv4(),
        Some(AddressFamily::Ipv6) => ip.is_ipv6(),
    }
}

impl Host for WasockCtxView<'_> {
    async fn resolve_addresses(
        &mut self,
        name: String,
        family: Option<AddressFamily>,
    ) -> SocketResult<Vec<IpAddress>> {
        let literal = name
            .strip_prefix('[')
            .and_then(|n| n.strip_suffix(']'))
            .unwrap_or(&name);
        if let Ok(ip) = literal.parse::<IpAddr>() {
            if !family_matches(&ip, family) {
                return Err(ErrorCode::NameNotFound.into());
            }
            return Ok(vec![ip_from_std(ip)]);
        }
        let name = match normalize_name(&name) {
            Ok(n) => n,
            Err(NameError::NumericAddress) => {
                tracing::warn!(
                    target: "wasock::policy",
                    instance = %self.ctx.id,
                    name = %name,
                    "refused to resolve a numeric IPv4 spelling as a name; use the dotted-quad address"
                );
                return Err(ErrorCode::InvalidArgument.into());
            }
            Err(_) => return Err(ErrorCode::InvalidArgument.into()),
        };
        self.ctx.record(&self.ctx.policy.check_name(&name))?;
        let ips = match self.ctx.pinned.get(&name) {
            Some(ips) => ips.clone(),
            None => self.ctx.provider.resolve(&name).await?,
        };
        let ips: Vec<IpAddr> = ips
            .into_iter()
            .filter(|ip| family_matches(ip, family))
            .collect();
        if ips.is_empty() {
            return Err(ErrorCode::NameNotFound.into());
        }
        self.ctx.remember(&name, &ips);
        Ok(ips.into_iter().map(ip_from_std).collect())
    }
}
