//! Where each node of a search tree is drawn: depth along x (a column per depth, the
//! conversation at column 0), one row per leaf along y, and every inner node centred on its
//! children, so that no two edges cross and a beam's lists sit next to the list they revise.
//!
//! Pure geometry in abstract units (columns and rows); the page scales it.

use serde::Serialize;

use crate::search::SearchTree;

/// Where one node sits: `column` = its depth, `row` = its vertical position (leaves on whole rows).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NodePlace {
    pub column: u32,
    pub row: f64,
}

/// The places of every node of a tree (index-aligned with its nodes) and the rows it spans.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TreeLayout {
    pub places: Vec<NodePlace>,
    /// Rows used (the number of leaves; at least 1).
    pub rows: usize,
    /// Columns used (the deepest depth, plus the conversation's column 0).
    pub columns: u32,
    /// The row of the conversation (the root, column 0): centred on the depth-1 lists.
    pub root_row: f64,
}

/// Lays out `tree`: leaves on consecutive rows in depth-first order of creation, parents centred.
pub fn layout(tree: &SearchTree) -> TreeLayout {
    let nodes = tree.nodes();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    let mut roots = Vec::new();
    for node in nodes {
        match node.parent {
            Some(parent) if parent.0 < nodes.len() => children[parent.0].push(node.id.0),
            _ => roots.push(node.id.0),
        }
    }
    let mut rows = vec![0.0; nodes.len()];
    let mut next_row = 0.0;
    // Iterative post-order, so that a deep tree cannot overflow the stack.
    for &root in &roots {
        let mut stack = vec![(root, false)];
        while let Some((index, expanded)) = stack.pop() {
            if children[index].is_empty() {
                rows[index] = next_row;
                next_row += 1.0;
            } else if expanded {
                let first = rows[children[index][0]];
                let last = rows[*children[index].last().expect("not empty")];
                rows[index] = (first + last) / 2.0;
            } else {
                stack.push((index, true));
                for &child in children[index].iter().rev() {
                    stack.push((child, false));
                }
            }
        }
    }
    let root_row = match (roots.first(), roots.last()) {
        (Some(&first), Some(&last)) => (rows[first] + rows[last]) / 2.0,
        _ => 0.0,
    };
    TreeLayout {
        places: nodes
            .iter()
            .map(|node| NodePlace {
                column: node.depth,
                row: rows[node.id.0],
            })
            .collect(),
        rows: (next_row as usize).max(1),
        columns: nodes.iter().map(|node| node.depth).max().unwrap_or(0),
        root_row,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::NodeId;

    /// Depth 1: two lists; the first is kept and revised twice at depth 2.
    fn small_tree() -> SearchTree {
        let mut tree = SearchTree::new();
        let a = tree.add_node(None, 0, vec!["A".into()], None);
        tree.add_node(None, 1, vec!["B".into()], None);
        tree.add_node(Some(a), 0, vec!["C".into()], Some("more".into()));
        tree.add_node(Some(a), 1, vec!["D".into()], Some("less".into()));
        tree
    }

    #[test]
    fn leaves_take_consecutive_rows_and_parents_sit_between_their_children() {
        let placed = layout(&small_tree());
        let rows: Vec<f64> = placed.places.iter().map(|place| place.row).collect();
        // A's children C, D on rows 0 and 1, A between them, B below on row 2.
        assert_eq!(rows, vec![0.5, 2.0, 0.0, 1.0]);
        let columns: Vec<u32> = placed.places.iter().map(|place| place.column).collect();
        assert_eq!(columns, vec![1, 1, 2, 2]);
        assert_eq!(placed.rows, 3);
        assert_eq!(placed.columns, 2);
        assert_eq!(placed.root_row, 1.25);
    }

    #[test]
    fn no_two_nodes_of_a_column_share_a_row() {
        // Four lists, each kept and revised four times, to depth 3.
        let mut tree = SearchTree::new();
        let mut frontier: Vec<Option<NodeId>> = vec![None];
        for _depth in 0..3 {
            let mut next = Vec::new();
            for parent in &frontier {
                for child in 0..4 {
                    next.push(Some(tree.add_node(*parent, child, vec![], None)));
                }
            }
            frontier = next.into_iter().take(4).collect();
        }
        let placed = layout(&tree);
        for column in 1..=3 {
            let mut rows: Vec<f64> = placed
                .places
                .iter()
                .filter(|place| place.column == column)
                .map(|place| place.row)
                .collect();
            let count = rows.len();
            rows.sort_by(f64::total_cmp);
            rows.dedup();
            assert_eq!(rows.len(), count, "column {column}");
        }
        assert_eq!(placed.places.len(), tree.nodes().len());
    }

    #[test]
    fn an_empty_tree_has_one_row_and_no_columns() {
        let placed = layout(&SearchTree::new());
        assert!(placed.places.is_empty());
        assert_eq!((placed.rows, placed.columns), (1, 0));
    }
}
