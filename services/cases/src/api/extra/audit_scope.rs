//! The middleware that gives every request its audit scope: a `requestId` shared by the audits
//! the request records, flushed (stored, streamed, sent to webhooks) when the handler is done.

use std::future::{Ready, ready};
use std::rc::Rc;
use std::sync::Arc;

use actix_web::Error;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use futures_util::future::LocalBoxFuture;

use crate::domain::audit::{self, ActivityHub, RequestAudit};

/// Wrap the app with `.wrap(AuditScope::new(hub))`.
#[derive(Debug, Clone)]
pub struct AuditScope {
    hub: Arc<ActivityHub>,
}

impl AuditScope {
    /// The middleware over `hub`.
    pub fn new(hub: Arc<ActivityHub>) -> Self {
        AuditScope { hub }
    }
}

impl<S, B> Transform<S, ServiceRequest> for AuditScope
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = AuditScopeService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AuditScopeService {
            service: Rc::new(service),
            hub: self.hub.clone(),
        }))
    }
}

/// The running middleware.
#[derive(Debug)]
pub struct AuditScopeService<S> {
    service: Rc<S>,
    hub: Arc<ActivityHub>,
}

impl<S, B> Service<ServiceRequest> for AuditScopeService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let service = self.service.clone();
        let hub = self.hub.clone();
        Box::pin(async move {
            let scope = RequestAudit::new(audit::new_request_id(&hub));
            let response = audit::within_request(scope.clone(), service.call(request)).await;
            audit::flush_request(&hub, &scope).await;
            response
        })
    }
}
